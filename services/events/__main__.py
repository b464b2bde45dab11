"""`python -m services.events [serve]`."""

from services.events.settings import EventsSettings
from shared.serve import serve

if __name__ == "__main__":
    serve("services.events.main:create_app", EventsSettings())
