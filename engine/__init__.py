"""govflow engine: execution, persistence, deadlines, timers and the working-day calendar.

Never imports Flask or the web layer; ``engine.bootstrap.build_engine`` is the composition root.
"""
