"""The citizen web e-service: pages rendered from the service catalog, in Swedish and English.

``web.render`` builds every page (server-side in the ``web`` function, and once per language
into ``web/dist/`` by ``python -m web.build`` for static hosting). ``web/static/`` holds the
stylesheet and the script that makes the forms better with JavaScript, never required.
"""
