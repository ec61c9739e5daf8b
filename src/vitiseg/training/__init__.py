"""Lightning training: the module, its callbacks, and the run that ties them together."""
