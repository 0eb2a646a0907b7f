"""Read models: what the pages and the API show, built inside one unit of work and returned as
frozen dataclasses (never ORM rows), so that the front ends hold no session."""
