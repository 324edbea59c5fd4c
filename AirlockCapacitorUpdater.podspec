# CocoaPods spec of the CapacitorUpdater plugin's iOS side (Capacitor 8: iOS 15+), for apps that use CocoaPods
# rather than Swift Package Manager. The same native parts as Package.swift (see ios/prepare-native.sh).
require 'json'

package = JSON.parse(File.read(File.join(__dir__, 'package.json')))
repository = package['repository'].is_a?(Hash) ? package['repository']['url'] : package['repository']

Pod::Spec.new do |s|
  s.name = 'AirlockCapacitorUpdater'
  s.version = package['version']
  s.summary = package['description']
  s.license = package['license']
  s.homepage = package['homepage'] || repository || 'https://example.invalid/airlock'
  s.author = package['author'] || 'Airlock'
  s.source = { git: repository || 'https://example.invalid/airlock.git', tag: s.version.to_s }
  s.ios.deployment_target = '15.0'
  s.swift_version = '5.9'
  s.source_files = 'ios/Sources/AirlockCapacitorUpdater/**/*.swift'
  s.vendored_frameworks = 'ios/Frameworks/Airlock.xcframework'
  s.frameworks = 'Security', 'SystemConfiguration'
  s.libraries = 'resolv'
  s.dependency 'Capacitor'
end
