"""Jupyter integration of the widgets: a Voila template and a server extension that serve Aladin Lite locally."""
