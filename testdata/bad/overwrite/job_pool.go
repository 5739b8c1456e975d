package overwrite

// Hand-written: poolgen must refuse to overwrite this file.
