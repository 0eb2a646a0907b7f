"""Data-resource catalog (arts. 7, 12, 15, 16, 24): being written."""
