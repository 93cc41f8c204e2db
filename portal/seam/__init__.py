"""What the widgets and the services both speak, and nothing else: the parameter rules (:mod:`.params`), the
model-file format (:mod:`.modelfile`), source sizes (:mod:`.sizes`), how names compare (:mod:`.names`) and
the UWS phase groups (:mod:`.phases`). Importing it imports no gammapy, no
job store and no web framework, so a dashboard's kernel reads the contract without the server's insides.
"""
