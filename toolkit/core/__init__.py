"""The ground floor: errors, console output, process coordination, run-directory file names.
Everything may import it; it imports no other stage."""
