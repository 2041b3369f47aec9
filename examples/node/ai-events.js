// Pattern 5, a model run on events: for each message on `signups`, an agent with every service
// in the registry as its tools decides how to welcome the new user, and does it.
//
//   MICRO_AI_PROVIDER=openai MICRO_AI_API_KEY=... node ai-events.js
//   micro broker publish signups '{"name":"Ada","email":"ada@example.com"}'
const { Agent, Model, Service } = require('go-micro')

/**
 * The onboarding service: a subscriber on `signups` running `agent` on each message.
 * @param {import('go-micro').Agent} agent
 * @param {import('go-micro').ServiceOptions} [options]
 */
function onboarding(agent, options) {
  return new Service('onboarding', options).subscribe('signups', async (user, event) => {
    const answer = await agent.generate(
      `A user signed up: ${JSON.stringify(user)}. Welcome them with the tools you have.`,
      { system: 'You run the onboarding of new users. Be brief.' },
    )
    for (const call of answer.tool_calls) {
      console.log(`called ${call.name} ${JSON.stringify(call.arguments)}: ${JSON.stringify(call.result ?? call.error)}`)
    }
    console.log(`${event.topic}: ${answer.text}`)
  })
}

module.exports = { onboarding }

if (require.main === module) onboarding(new Agent(new Model(), { maxSteps: 5 })).run()
