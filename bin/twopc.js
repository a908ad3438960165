#!/usr/bin/env node
// The installed command: runs the compiled entry point (npm run build).
import '../dist/main.js';
