"""scimrecon: find and fix identity drift and unwanted billable access in Atlassian Cloud."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scimrecon")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
