"""GitLab: the token client (`client.py`) and the project adapter with its helpers."""
