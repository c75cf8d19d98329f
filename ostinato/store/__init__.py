"""Local state stores on RocksDB (rocksdict)."""
