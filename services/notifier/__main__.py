"""`python -m services.notifier [serve]`."""

from services.notifier.settings import NotifierSettings
from shared.serve import serve

if __name__ == "__main__":
    serve("services.notifier.main:create_app", NotifierSettings())
