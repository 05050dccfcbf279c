"""Load test: gunicorn with several workers, reporters writing and leaders reading at once."""
