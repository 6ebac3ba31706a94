"""The dataset directory: its lock, files written whole, manifest, increments, object stores."""
