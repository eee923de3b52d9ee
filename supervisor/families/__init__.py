"""The tool families: each module holds how its contracts are shown to the model."""
