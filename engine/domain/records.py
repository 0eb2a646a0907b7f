"""Records the procedures create (grants, objections, reports, violations): being written."""
