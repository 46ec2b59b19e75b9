"""A live, read-only web dashboard over a population storage: ``populace dashboard``.

It serves one page and a JSON API (Starlette, run by uvicorn) that read the storage through a
read-only connection, and follows a run in progress by reading only the rows added since its
last read. Every asset ships with the package (plotly.js from the installed plotly): it works
offline. Needs ``pip install 'populace[dashboard]'``.
"""

from populace.dashboard._app import Dashboard, create_app
from populace.dashboard._live import LivePopulation
from populace.dashboard._serve import PortError, listen, serve

__all__ = ["Dashboard", "LivePopulation", "PortError", "create_app", "listen", "serve"]
