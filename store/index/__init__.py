"""The vector index, a rebuildable cache of the records: the chromadb collection (embedded, or on a Chroma server),
who owns it (an flock in the home, or an advisory lock in PostgreSQL), and its check and rebuild in child processes."""
