"""Data protection: retention purges run by the worker, the privacy and accessibility pages."""
