/*
 * Calls helloworld's Helloworld.Call (the C service beside this file, or any go-micro
 * helloworld) and prints the answer:
 *
 *   build/client John    ->  {"msg":"Hello John"}
 */
#include <micro.h>

#include <stdio.h>

int main(int argc, char **argv) {
    char req[256];
    int n = snprintf(req, sizeof req, "{\"name\": \"%s\"}", argc > 1 ? argv[1] : "John");
    micro_client *client = NULL;
    micro_buf rsp = {0};
    micro_error *err = NULL;
    int32_t status = micro_client_new(NULL, &client, &err);
    if (status == MICRO_OK)
        status = micro_client_call(client, "helloworld", "Helloworld.Call", (const uint8_t *)req,
                                   (size_t)n, "{\"timeout_ms\": 5000}", &rsp, &err);
    if (status == MICRO_OK) {
        printf("%.*s\n", (int)rsp.len, (const char *)rsp.ptr);
        micro_buf_free(&rsp);
    } else {
        fprintf(stderr, "client: %s\n", err->message);
        micro_error_free(err);
    }
    micro_client_free(client);
    micro_runtime_shutdown(NULL);
    return status == MICRO_OK ? 0 : 1;
}
