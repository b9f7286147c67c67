// Placeholder entry until the CLI lands.
process.stdout.write('port-linker: not implemented yet\n');
