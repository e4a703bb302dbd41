/* The OpenAPI document (src/server/openapi.json) compiled into the binary with the assembler's
 * .incbin, so `promo serve` answers /api/openapi.json wherever the binary is copied, and the
 * document cannot drift from the build (a test checks it against the route table). Why not
 * read it at run time: the binary would then depend on the source tree being beside it. The
 * Makefile lists openapi.json as a prerequisite of this object (-MMD does not see .incbin). */
#include <stddef.h>
#include <stdint.h>

#include "server/server.h"

/* The document, a NUL after it, and its length in bytes (computed by the assembler). */
__asm__(".section .rodata\n"
        ".global promo_openapi_start\n"
        ".type promo_openapi_start, @object\n"
        "promo_openapi_start:\n"
        ".incbin \"src/server/openapi.json\"\n"
        "promo_openapi_end:\n"
        ".byte 0\n"
        ".balign 8\n"
        ".global promo_openapi_size\n"
        ".type promo_openapi_size, @object\n"
        "promo_openapi_size:\n"
        ".quad promo_openapi_end - promo_openapi_start\n"
        ".previous\n");

extern const char promo_openapi_start[];
extern const uint64_t promo_openapi_size;

const char *promo_openapi_json(size_t *n)
{
    *n = (size_t)promo_openapi_size;
    return promo_openapi_start;
}
