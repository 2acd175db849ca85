"""``python -m pinlock``."""

from pinlock.cli import main

if __name__ == "__main__":
    main()
