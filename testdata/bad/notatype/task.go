package notatype

var Job = 1
