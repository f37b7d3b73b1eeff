"""The Actiongraph desktop editor (PySide6, NodeGraphQt, qasync)."""
