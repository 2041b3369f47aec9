/*
 * helloworld in C: serves Helloworld.Call ({"name": "Alice"} -> {"msg": "Hello Alice"}) and
 * registers in the registry (mDNS by default, so go-micro peers and `micro call` find it) until
 * Ctrl-C.
 *
 *   make c-examples && build/service     (see the C section of the README)
 */
#include <micro.h>

#include <stdio.h>
#include <string.h>

/* The value of "name" in a flat JSON object, copied into `out` (no escapes handled). */
static void json_name(const uint8_t *req, size_t len, char *out, size_t cap) {
    char body[512];
    snprintf(body, sizeof body, "%.*s", (int)len, (const char *)req);
    out[0] = '\0';
    const char *key = strstr(body, "\"name\"");
    const char *open = key ? strchr(key + 6, '"') : NULL;
    const char *close = open ? strchr(open + 1, '"') : NULL;
    if (close) snprintf(out, cap, "%.*s", (int)(close - open - 1), open + 1);
}

static void call(void *user_data, const uint8_t *req, size_t req_len, micro_reply *reply) {
    (void)user_data;
    char name[128], rsp[256];
    json_name(req, req_len, name, sizeof name);
    if (name[0] == '\0') {
        micro_reply_error(reply, 400, NULL, "say who to greet: {\"name\": \"Alice\"}", NULL);
        return;
    }
    int n = snprintf(rsp, sizeof rsp, "{\"msg\":\"Hello %s\"}", name);
    micro_reply_send(reply, (const uint8_t *)rsp, (size_t)n, NULL);
}

int main(void) {
    micro_service *svc = NULL;
    micro_error *err = NULL;
    if (micro_service_new("helloworld", NULL, &svc, &err) != MICRO_OK ||
        micro_service_handle(svc, "Helloworld.Call", call, NULL, &err) != MICRO_OK ||
        micro_service_describe(svc, "Helloworld.Call", "Greets a person by name",
                               "{\"name\": \"Alice\"}", &err) != MICRO_OK ||
        micro_service_start(svc, &err) != MICRO_OK) {
        fprintf(stderr, "service: %s\n", err->message);
        micro_error_free(err);
        micro_service_free(svc);
        return 1;
    }
    char *address = NULL;
    micro_service_address(svc, &address, NULL);
    printf("helloworld listening on %s\n", address);
    fflush(stdout);
    micro_string_free(address);
    int32_t status = micro_service_run(svc, &err); /* until SIGINT or SIGTERM */
    if (status != MICRO_OK) {
        fprintf(stderr, "service: %s\n", err->message);
        micro_error_free(err);
    }
    micro_service_free(svc);
    micro_runtime_shutdown(NULL);
    return status == MICRO_OK ? 0 : 1;
}
