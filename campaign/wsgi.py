"""The production entry point: ``gunicorn 'campaign.wsgi:app'``."""

import gc

from campaign import create_app

app = create_app()

# Everything alive now (modules, metadata, templates) lives as long as the process:
# take it out of the garbage collector's full scans, which otherwise cost a
# province summary about a third of its time.
gc.freeze()
