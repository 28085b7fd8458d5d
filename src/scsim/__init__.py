"""scsim: simulate social-credit scoring systems on synthetic populations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scsim")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"
