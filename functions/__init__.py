"""The Lambda functions of the bus (each ``functions.<name>.handler``) and their layers.

Every handler module's path starts here, so this runs before any handler imports a library:
it lets Powertools' event handler and data-class packages skip their catch-all ``__init__``
(functions/platform/lazy_init.py says why and what it saves), and pydantic skip its search
for plugins: the bus uses none, and the search reads the metadata of every installed
distribution on the first model a function builds (~5 ms of each cold start). It holds the
garbage collector back until the first invocation ends (functions/platform/gc_init.py: init
allocates much and frees little, ~25 ms of collections). Where Lambda
initializes a function for a SnapStart snapshot, it registers the hooks that keep restored
copies apart (functions/platform/snapstart.py).
"""

import os

from functions.platform import gc_init, lazy_init

gc_init.pause()
lazy_init.install()
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":  # set by Lambda
    from functions.platform import snapstart

    snapstart.install()
