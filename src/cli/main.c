/* The `promo` executable: all logic is in promo_cli_main so tests can run it in-process. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return promo_cli_main(argc, argv);
}
