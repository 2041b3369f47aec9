// Pattern 4, a model with a tool of your own: the agent offers the model `get_weather`, runs
// each call the model makes with a JS function, and streams the answer as it comes.
//
//   MICRO_AI_PROVIDER=openai MICRO_AI_API_KEY=... node ai-tools.js "Is it warm in Rome?"
const { Agent, Model } = require('go-micro')

/** @type {import('go-micro').ToolSpec} */
const weather = {
  name: 'get_weather',
  description: 'The weather now in a city: sky and temperature in degrees Celsius.',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}

/**
 * Runs the model's `get_weather` calls (a real one would ask a weather service).
 * @param {import('go-micro').ToolCall} call
 */
function getWeather(call) {
  return { city: call.arguments.city, sky: 'sunny', celsius: 21 }
}

async function main() {
  const agent = new Agent(new Model(), { tools: [weather], handler: getWeather })
  for await (const event of agent.stream(process.argv[2] ?? 'What is the weather in Paris?')) {
    if (event.type === 'text') process.stdout.write(event.text)
    if (event.type === 'tool_result') {
      const { name, arguments: args, result, error } = event.call
      console.log(`[${name}(${JSON.stringify(args)}) -> ${JSON.stringify(result ?? error)}]`)
    }
  }
  console.log()
}

main()
