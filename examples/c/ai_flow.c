/*
 * Pattern 5, a model run by events: the flow service subscribes to "orders" and, for each
 * message, asks an agent to act on it with the registry's endpoints as its tools, then prints
 * the answer (JSON). The model comes from MICRO_AI_* as in ai_service.c.
 *
 *   build/ai_flow &
 *   micro broker publish orders '{"id": 7, "item": "tea", "email": "alice@example.com"}'
 */
#include <micro.h>

#include <stdio.h>
#include <string.h>

/* `len` bytes of `text` as the inside of a JSON string, cut to fit `cap`. */
static void json_escape(const uint8_t *text, size_t len, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < len && o + 7 < cap; i++) {
        if (text[i] == '"' || text[i] == '\\') out[o++] = '\\';
        if (text[i] < 0x20) o += (size_t)snprintf(out + o, cap - o, "\\u%04x", text[i]);
        else out[o++] = (char)text[i];
    }
    out[o] = '\0';
}

static int32_t on_order(void *model, const char *topic, const uint8_t *body, size_t len,
                        const char *header_json) {
    (void)header_json;
    char event[2048], request[4096];
    json_escape(body, len, event, sizeof event);
    snprintf(request, sizeof request,
             "{\"system\": \"You process events. Use the tools to act on the event, then say "
             "what you did.\", \"prompt\": \"An event arrived on %s: %s\"}", topic, event);
    /* A new agent each time offers the endpoints registered now. */
    micro_agent *agent = NULL;
    char *response = NULL;
    micro_error *err = NULL;
    int32_t status = micro_agent_new(model, NULL, NULL, NULL, NULL, &agent, &err);
    if (status == MICRO_OK) status = micro_agent_generate(agent, request, &response, &err);
    if (status == MICRO_OK)
        printf("%s: %s\n", topic, response);
    else
        fprintf(stderr, "ai_flow: %s\n", err->message);
    fflush(stdout);
    micro_string_free(response);
    micro_error_free(err);
    micro_agent_free(agent);
    return status == MICRO_OK ? 0 : 500;
}

int main(void) {
    micro_model *model = NULL;
    micro_service *svc = NULL;
    micro_error *err = NULL;
    int ok = micro_model_new(NULL, &model, &err) == MICRO_OK &&
        micro_service_new("flow", NULL, &svc, &err) == MICRO_OK &&
        micro_service_subscribe(svc, "orders", NULL, on_order, model, &err) == MICRO_OK &&
        micro_service_run(svc, &err) == MICRO_OK; /* until SIGINT or SIGTERM */
    if (!ok) {
        fprintf(stderr, "ai_flow: %s\n", err->message);
        micro_error_free(err);
    }
    micro_service_free(svc);
    micro_model_free(model);
    micro_runtime_shutdown(NULL);
    return ok ? 0 : 1;
}
