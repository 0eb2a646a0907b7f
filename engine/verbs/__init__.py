"""The engine's verbs: every write the front ends make, one function per action over plain arguments,
each owning its unit of work (permission, domain work, audit, one commit) and returning plain values."""
