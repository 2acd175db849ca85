"""Lock files: the model, the requirements.txt form (read and write), pylock.toml."""
