"""The work of asynchronous tasks: image import flows and their plugins."""
