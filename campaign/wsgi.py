"""The production entry point: ``gunicorn 'campaign.wsgi:app'``."""

import gc

from campaign import create_app, warm_up

app = create_app()
# The dashboards read most, made before the first reader asks (with --preload, once for
# every worker): a national plan's figures take seconds to make.
warm_up(app)

# Everything alive now (modules, metadata, templates) lives as long as the process:
# take it out of the garbage collector's full scans, which otherwise cost a
# province summary about a third of its time.
gc.freeze()
