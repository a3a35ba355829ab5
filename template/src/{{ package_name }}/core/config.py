"""The service's settings, read from environment variables and the `.env` file.

`Settings` is yours: add a field for each setting your code needs (and a line for it at the
end of `.env.example`). The settings of the service itself, its database and neodyme's
modules come from `ServiceSettings` (core/service_settings.py), which `neodyme add` and
`neodyme update` keep up to date.
"""

from .service_settings import ServiceSettings


class Settings(ServiceSettings):
    """Each field is read from the environment variable of its name, in any case:
    environment variables win over `.env`, which wins over the defaults.
    """


settings = Settings()
