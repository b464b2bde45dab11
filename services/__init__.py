"""The four Articula services; each is a FastAPI app in its own process."""
