"""The Qt-free engine of Actiongraph: project model, store, compiler, executor, server, CLI."""
