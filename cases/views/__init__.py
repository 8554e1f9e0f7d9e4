"""Case pages: the queue (`queue.py`) and a single case (`case.py`)."""
