"""The workshop itself: phases, people, groups, the board, validation, maps, summaries.

Plain Python: no Slack SDK and no SQL here. Storage is reached through a unit of work
(`storage.UnitOfWork`) whose repositories speak in workshop terms.
"""
