/* benchrunnerd.c: the daemon (work in progress). */
#include "util.h"
int main(int argc, char **argv) { return 0; }
