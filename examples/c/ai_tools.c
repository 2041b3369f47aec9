/*
 * Pattern 4, a model with a tool handler: the model may call get_weather, which this program
 * answers itself, and the answer streams as it comes, one event (JSON) a line: text pieces, the
 * tool call, its result, the end. The model comes from MICRO_AI_* as in ai_service.c.
 *
 *   build/ai_tools '{"prompt": "Should I take an umbrella in Paris today?"}'
 */
#include <micro.h>

#include <stdio.h>
#include <string.h>

static const char *tools =
    "[{\"name\": \"get_weather\", \"description\": \"Today's weather in a city\", \"parameters\": "
    "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}]";

/* Runs each call ({"id": ..., "name": "get_weather", "arguments": {"city": ...}}): any city is
 * rainy. An error (micro_reply_error) would be told to the model instead. */
static void get_weather(void *user_data, const uint8_t *call, size_t len, micro_reply *reply) {
    (void)user_data, (void)call, (void)len;
    const char *result = "{\"forecast\": \"rain\", \"celsius\": 14}";
    micro_reply_send(reply, (const uint8_t *)result, strlen(result), NULL);
}

int main(int argc, char **argv) {
    const char *request = argc > 1 ? argv[1] : "{\"prompt\": \"Do I need an umbrella in Paris?\"}";
    micro_model *model = NULL;
    micro_agent *agent = NULL;
    micro_ai_stream *stream = NULL;
    micro_error *err = NULL;
    char *event = NULL;
    int32_t status = micro_model_new(NULL, &model, &err);
    if (status == MICRO_OK)
        status = micro_agent_new(model, tools, get_weather, NULL, NULL, &agent, &err);
    if (status == MICRO_OK) status = micro_agent_stream(agent, request, &stream, &err);
    while (status == MICRO_OK && (status = micro_ai_stream_next(stream, &event, &err)) == MICRO_OK) {
        printf("%s\n", event);
        micro_string_free(event);
    }
    if (status != MICRO_EOF) {
        fprintf(stderr, "ai_tools: %s\n", err->message);
        micro_error_free(err);
    }
    micro_ai_stream_free(stream);
    micro_agent_free(agent);
    micro_model_free(model);
    micro_runtime_shutdown(NULL);
    return status == MICRO_EOF ? 0 : 1;
}
