"""Web stage: FastAPI app and Jinja2 templates over the search facade."""
