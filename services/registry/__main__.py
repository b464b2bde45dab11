"""`python -m services.registry [serve]`."""

from services.registry.settings import RegistrySettings
from shared.serve import serve

if __name__ == "__main__":
    serve("services.registry.main:create_app", RegistrySettings())
