"""Landing zones, readers, window assignment and the content-hash archive: the upload stage."""
