"""What the widgets and the services both speak, and nothing else: the parameter rules (:mod:`.params`), the
model-file format (:mod:`.modelfile`) and source sizes (:mod:`.sizes`). Importing it imports no gammapy, no
job store and no web framework, so a dashboard's kernel reads the contract without the server's insides.
"""
