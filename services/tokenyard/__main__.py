"""`python -m tokenyard` runs the CLI."""
from tokenyard.cli import main

main()
