"""GitHub: the App client (`client.py`), its REST calls (`api.py`) and conversions (`convert.py`)."""
